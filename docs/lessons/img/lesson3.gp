# gnuplot lesson3.gp > lesson3.svg  (from docs/lessons/img/)
set terminal svg size 760,480 font "sans,11"
set termoption noenhanced
set title "demand-paging 100 in the teaching kernel: memory is demand-paged twice"
set xlabel "time since the VM started (s), one point per marker of the guest"
set ylabel "MiB"
set key top left
set grid
set xrange [0:2.8]
set yrange [0:170]
# each run's kvmlab RSS and pf_fixed at its first marker
base_rss = 16316.0 / 1024
base_pf = 568
thp_rss = 19816.0 / 1024
thp_pf = 5
plot "lesson3.dat" using 1:($3/1024) with steps lw 2 dt 2 title "guest: the process's VSZ (mmap: at once)", \
     "" using 1:($4/1024) with linespoints lw 2 pt 7 title "guest: the process's RSS (first touches)", \
     "" using 1:($5/1024 - base_rss) with linespoints lw 2 pt 5 title "--no-thp, host: kvmlab's RSS since the first marker", \
     "" using 1:(($6-base_pf)*4/1024) with linespoints lw 2 pt 9 title "--no-thp, host: KVM's pf_fixed since the first marker, x 4 KiB", \
     "lesson3-thp.dat" using 1:($5/1024 - thp_rss) with linespoints lw 2 pt 4 title "default (THP), host: kvmlab's RSS since the first marker", \
     "" using 1:(($6-thp_pf)*2) with linespoints lw 2 pt 8 title "default (THP), host: KVM's pf_fixed since the first marker, x 2 MiB"
