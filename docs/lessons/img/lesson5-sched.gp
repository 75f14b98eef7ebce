# gnuplot lesson5-sched.gp > lesson5-sched.svg  (from docs/lessons/img/)
set terminal svg size 760,420 font "sans,11"
set termoption noenhanced
set title "The teaching kernel's sched 1 500, vCPU pinned to CPU 0 (--pin 0): progress of the work"
set xlabel "ms since the work started (guest clock)"
set ylabel "work done (%)"
set key bottom right
set grid
set yrange [0:105]
plot "lesson5-sched.dat" index 0 using 1:2 with lines lw 2 title "vCPU alone on CPU 0: 500 ms of work in 589 ms", \
     "" index 1 using 1:2 with lines lw 2 title "host busy loop on CPU 0 too: in 3206 ms, flat where the vCPU did not run"
