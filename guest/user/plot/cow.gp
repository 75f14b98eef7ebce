# cow: the system's used memory at each step, relative to the first one.
load dir."/common.gp"
set title "cow: used memory around fork and the child's writes" . where_
set ylabel "used memory - at before-fork [MiB]"
set style fill solid 0.6
set boxwidth 0.6
set key off
set bmargin 5
set yrange [0:*]
first = system("awk -F'\t' '!/^#/ {print $3; exit}' ".in)
plot in using 0:(($3 - first) / 1024.0 < 0 ? 0 : ($3 - first) / 1024.0):xticlabels(stringcolumn(1)."\n(".stringcolumn(2).")") with boxes
