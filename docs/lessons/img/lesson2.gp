# gnuplot lesson2.gp > lesson2.svg  (from docs/lessons/img/)
set terminal svg size 760,400 font "sans,11"
set title "Every VM exit (KVM's 'exits'): who handled it"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set ylabel "exits"
set key top left
set yrange [0:4500]

plot "lesson2.dat" using 2:xtic(1) title "came to kvmlab (user space)", \
     "" using 3 title "stayed in KVM (page faults, host IRQs, ...)"
