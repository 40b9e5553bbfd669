# bench/chart.gp - the benchmark chart: one panel per front-end and frame size,
# Mpps per system (median, min-max as error bars). Called by bench/run.sh:
#   gnuplot -e "datafile='plot.dat'; outfile='x.png'; subtitle='...'" chart.gp
# datafile: blocks "index label median min max" (bench/report.py), panel
# titles in datafile.titles ('~' for spaces).
titles = system("cat '".datafile.".titles'")
n = words(titles)
cols = (n > 1) ? 2 : 1
rows = (n + cols - 1) / cols
set terminal pngcairo noenhanced size 560*cols, 380*rows + 40 font "DejaVu Sans,9"
set output outfile
set multiplot layout rows, cols title "ringswitch vs OVS-DPDK vs DPDK vhost (testpmd), switch on 1 core\n".subtitle
set style fill solid 0.8 border -1
set boxwidth 0.6
set ylabel "Mpps"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid ytics
set xtics rotate by -30 font ",8" nomirror
unset key
# ringswitch blue, OVS red, testpmd vhost green
color(s) = (s[1:2] eq "rs") ? 0x3465a4 : ((s[1:3] eq "ovs") ? 0xcc0000 : 0x73d216)
do for [i = 0:n-1] {
	t = word(titles, i + 1)
	set title system("echo '".t."' | tr '~' ' '")
	plot datafile index i using 1:3:(color(strcol(2))):xtic(2) with boxes lc rgb variable, \
	     '' index i using 1:3:4:5 with yerrorbars lc rgb "black" pt 7 ps 0, \
	     '' index i using 1:5:(sprintf("%.2f", $3)) with labels offset 0,0.7 font ",8"
}
unset multiplot
