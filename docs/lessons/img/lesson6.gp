# gnuplot lesson6.gp > lesson6.svg  (from docs/lessons/img/)
set terminal svg size 820,420 font "sans,11"
set title "--firmware minus direct boot: extra exits by key"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "extra exits"
set key top right
set xzeroaxis
set xtics rotate by -20
plot "lesson6.dat" using 2:xtic(1) title "test guest (exit=0)", \
     "" using 3 title "teaching kernel (init=/loops cpu 0)"
