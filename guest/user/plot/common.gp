# Shared settings for the experiment graphs (scripts/plot.sh loads this first; `in` and `out` are set).
set terminal svg size 720,440 dynamic font "sans,12" background rgb "white"
set output out
set datafile separator "\t"
set grid
set key top left
# where_: appended to every title (plot.sh --kernel: " (teaching kernel)"); empty by default.
if (!exists("where_")) where_ = ""
