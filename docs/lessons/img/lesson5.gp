# gnuplot lesson5.gp > lesson5.svg  (from docs/lessons/img/)
set terminal svg size 760,400 font "sans,11"
set title "One guest loop, vCPU pinned to CPU 0: where the guest's time went (/proc/stat)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.5
set ylabel "seconds"
set key top left
set yrange [0:9]

plot "lesson5.dat" using ($2/100):xtic(1) title "user", \
     "" using ($3/100) title "system", \
     "" using ($4/100) title "softirq", \
     "" using ($5/100) title "steal (the host ran something else)", \
     "" using 0:6:(sprintf("loop took %.2f s", $6)) with labels offset 0,1 notitle
