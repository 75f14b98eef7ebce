# sched-nice: work done (ms of work) against time for the nice 0 and nice 5 processes (every 4th row).
load dir."/common.gp"
set title "sched-nice: two processes on one CPU, nice 0 and nice 5" . where_
set xlabel "elapsed time [ms]"
set ylabel "work done [ms of CPU work]"
plot in every 4 using 3:($1 == 0 ? $4 : NaN) with points pointtype 7 pointsize 0.4 title "nice 0", \
     in every 4 using 3:($1 == 5 ? $4 : NaN) with points pointtype 7 pointsize 0.4 title "nice 5"
