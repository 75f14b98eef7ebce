# demand-paging: RSS and minor faults against the memory touched so far (after one mmap of it all).
load dir."/common.gp"
set title "demand-paging: mmap, then touch page by page" . where_
set xlabel "memory touched [MiB]"
set ylabel "RSS [MiB]"
set y2label "minor page faults"
set ytics nomirror
set y2tics
set key bottom right
plot in using ($2/1024):($4/1024) with linespoints pointtype 7 title "RSS (left)", \
     in using ($2/1024):($5) axes x1y2 with linespoints pointtype 6 title "minor faults (right)", \
     in using ($2/1024):($3/1024) with lines dashtype 2 title "VSZ (left)"
