# gnuplot lesson3.gp > lesson3.svg  (from docs/lessons/img/)
set terminal svg size 760,440 font "sans,11"
set termoption noenhanced
set title "demand-paging 100 in the teaching kernel: memory is demand-paged twice"
set xlabel "time since the VM started (s), one point per marker of the guest"
set ylabel "MiB"
set key top left
set grid
set xrange [0:8.6]
set yrange [0:150]
base_rss = 14296.0 / 1024
base_pf = 571
plot "lesson3.dat" using 1:($3/1024) with steps lw 2 dt 2 title "guest: the process's VSZ (mmap: at once)", \
     "" using 1:($4/1024) with linespoints lw 2 pt 7 title "guest: the process's RSS (first touches)", \
     "" using 1:($5/1024 - base_rss) with linespoints lw 2 pt 5 title "host: kvmlab's RSS, minus its 14 MiB at the first marker", \
     "" using 1:(($6-base_pf)*4/1024) with linespoints lw 2 pt 9 title "host: KVM's pf_fixed since the first marker, x 4 KiB"
