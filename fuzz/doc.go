// Package fuzz holds black-box fuzz targets that drive mcpflow's exported
// APIs with inputs decoded from the fuzzer's bytes. `make fuzz` runs every
// target for FUZZTIME; `make test` runs each for a few seconds.
package fuzz
