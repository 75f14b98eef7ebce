# cache: time per access against the buffer size (log scale).
load dir."/common.gp"
set title "cache: random walk over a buffer's cache lines" . where_
set xlabel "buffer size [KiB]"
set ylabel "time per access [ns]"
set logscale x 2
set logscale y
set format x "%.0f"
set key off
plot in using 1:2 with linespoints pointtype 7
