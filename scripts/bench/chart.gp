# chart.gp - ratios (imapexec / baseline) with min..max bars; called by
# bench.sh as: gnuplot -e "dat='chart.dat'; png='chart.png'" chart.gp
set terminal pngcairo size 1100,600 noenhanced font ",10"
set output png
set title "imapexec / baseline (median, bars: min..max over interleaved rounds)"
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -35 left
set logscale y
set grid ytics
set ylabel "ratio (log scale)"
set key off
set bmargin 12
set rmargin 8
plot dat using 1:4:xtic(2) with boxes lc rgb "#4a7ebb", \
     dat using 1:4:3:5 with yerrorbars lc rgb "black" pt 0, \
     1 with lines lc rgb "red" dt 2
