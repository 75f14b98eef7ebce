# gnuplot lesson1.gp > lesson1.svg  (from docs/lessons/img/)
set terminal svg size 760,400 font "sans,11"
set title "Exits that came to kvmlab (--stats), by key"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set ylabel "exits"
set key top left
set yrange [0:4500]

plot "lesson1.dat" using 2:xtic(1) title "port:0x3f8/POUT (a byte)", \
     "" using 3 title "port:0x3fd/PIN (UART status poll)", \
     "" using 4 title "other (UART set-up, exit port 0x501)"
