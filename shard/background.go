package shard

import (
	"sync"
	"sync/atomic"
	"time"
)

// background is a cache's helper goroutine: it advances the coarse clock and
// runs periodic sweeps. It refers to the cache's shards but not to the Cache,
// so an abandoned Cache is still collected, and its cleanup stops this.
type background struct {
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	stopped atomic.Bool // set once done is closed and observed by close
}

func startBackground(coarse *atomic.Int64, tick, sweepEvery time.Duration, sweep func() int) *background {
	bg := &background{stop: make(chan struct{}), done: make(chan struct{})}
	var tickC, sweepC <-chan time.Time
	var tickT, sweepT *time.Ticker
	if coarse != nil {
		tickT = time.NewTicker(tick)
		tickC = tickT.C
	}
	if sweepEvery > 0 {
		sweepT = time.NewTicker(sweepEvery)
		sweepC = sweepT.C
	}
	go func() {
		defer close(bg.done)
		if tickT != nil {
			defer tickT.Stop()
		}
		if sweepT != nil {
			defer sweepT.Stop()
		}
		for {
			select {
			case <-bg.stop:
				return
			case <-tickC:
				// A late tick carries a stale time; read the clock instead.
				coarse.Store(time.Now().UnixNano())
			case <-sweepC:
				if coarse != nil {
					coarse.Store(time.Now().UnixNano())
				}
				sweep()
			}
		}
	}()
	return bg
}

// close stops the goroutine and waits for it to exit.
func (bg *background) close() {
	bg.once.Do(func() { close(bg.stop) })
	<-bg.done
	bg.stopped.Store(true)
}

// cleanup is run by the runtime when the Cache is unreachable. It must not
// block, and it does nothing if Close already ran.
func (bg *background) cleanup() {
	if bg.stopped.Load() {
		return
	}
	bg.once.Do(func() { close(bg.stop) })
}
