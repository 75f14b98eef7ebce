# sched N: each child's progress (%) against time since the start (ms); variables in, out, n, title_.
load dir."/common.gp"
set title title_ . where_
set xlabel "elapsed time [ms]"
set ylabel "progress [%]"
set yrange [0:105]
plot for [i=0:n-1] in using 3:($1 == i ? $4 : NaN) with points pointtype 7 pointsize 0.4 title sprintf("process %d", i)
