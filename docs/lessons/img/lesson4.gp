# gnuplot lesson4.gp > lesson4.svg  (from docs/lessons/img/)
set terminal svg size 760,400 font "sans,11"
set title "virtio-blk: 48 MiB of disk I/O, 55 requests: what came to kvmlab"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "count"
set key top left
set yrange [0:180]

plot "lesson4.dat" using 2:xtic(1) title "requests the guest made (/sys/block/vda/stat)", \
     "" using 3 title "kicks that came to kvmlab (gpa:0xc0003000/W)", \
     "" using 4 title "all MMIO exits that came to kvmlab"
