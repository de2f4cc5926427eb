# scaling.gp - the plot of benchmark 5: delivery throughput by the
# number of concurrent senders, Federizer beside Postfix, from the file
# scripts/bench.sh writes (senders, federizer msg/s, postfix msg/s).
#   gnuplot -e "dat='scaling.dat'; png='bench-scaling.png'" bench/scaling.gp
set terminal pngcairo size 800,480 font 'DejaVu Sans,11' noenhanced
set output png
set title 'Delivery of 1 KiB messages by concurrent senders (median of the pairs)'
set xlabel 'concurrent senders'
set ylabel 'messages per second'
set logscale x 2
set xtics (1, 4, 16, 64)
set xrange [0.8:80]
set yrange [0:*]
set grid ytics
set key below
plot dat using 1:3 with linespoints lw 2 pt 7 title 'Postfix (smtp-source -> postfix -> smtp-sink)', \
     dat using 1:2 with linespoints lw 2 pt 5 title 'Federizer (APP API -> MBX1 -> MBX2, fetched)'
