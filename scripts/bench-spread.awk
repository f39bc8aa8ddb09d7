# Per GOMAXPROCS: min / median / max over runs of each ratio that
# BenchmarkGetHitSpread reports, and of bounded ÷ shard (ratio of the two
# per-run medians).
/^BenchmarkGetHitSpread/ {
	split($1, a, "-"); cpu = a[2]; cpus[cpu] = 1; n = ++cnt[cpu]
	for (f = 3; f < NF; f++) {
		u = $(f+1)
		if (u == "shard/xsync" || u == "noop/xsync" || u == "bounded/xsync" || u == "xsync-ns/op" || u == "shard-ns/op") v[cpu, u, n] = $f
	}
	v[cpu, "bounded/shard", n] = v[cpu, "bounded/xsync", n] / v[cpu, "shard/xsync", n]
}
function stat(cpu, u,   m, i, j, t, arr, med) {
	m = cnt[cpu]; for (i = 1; i <= m; i++) arr[i] = v[cpu, u, i]
	for (i = 2; i <= m; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j+1] = arr[j]; arr[j+1] = t }
	med = (m % 2) ? arr[(m+1)/2] : (arr[m/2] + arr[m/2+1]) / 2
	return sprintf("%.2f / %.2f / %.2f", arr[1], med, arr[m])
}
END {
	for (cpu in cpus) {
		line = ""; for (i = 1; i <= cnt[cpu]; i++) line = line sprintf(" %.2f", v[cpu, "shard/xsync", i])
		printf "cpu=%s runs=%d shard/xsync per run:%s\n", cpu, cnt[cpu], line
		printf "cpu=%s min/median/max shard/xsync %s | noop/xsync %s | bounded/xsync %s | bounded/shard %s | xsync-ns/op %s\n", cpu, stat(cpu, "shard/xsync"), stat(cpu, "noop/xsync"), stat(cpu, "bounded/xsync"), stat(cpu, "bounded/shard"), stat(cpu, "xsync-ns/op")
	}
}
