# attnbounds plot 'p_star_qsa': run `gnuplot p_star_qsa.gp` to re-render p_star_qsa.pdf and p_star_qsa.png.
# tool: attnbounds 0.1.0
# git commit: 0000000000000000000000000000000000000000
# compiler: compiler
# GMP: x.y
# MPFR: x.y
# MPFI: x.y
# GLPK: x.y
# Boost: x.y
# command line: attnbounds reproduce --out DIR
# cores: 2
# date: 2000-01-01T00:00:00Z
$series0 << EOD
8 6
16 8
32 10
EOD
$series1 << EOD
8 18
16 23
32 27
EOD
$series2 << EOD
8 4
16 4
32 4
EOD
$series3 << EOD
8 5
16 5
32 5
EOD
set title 'Theorems 2/3: minimal precision p* (embed:float:P) against N'
set xlabel 'N (log scale)'
set ylabel 'p* (significand bits)'
set key outside right top
set grid
set logscale x 2
set xrange [6.666666666666667:38.4]
set yrange [3.08:27.92]
set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'
set output 'p_star_qsa.pdf'
plot $series0 using 1:2 with linespoints lw 2 pt 7 ps 1.2 lc rgb '#0072b2' title 'qsa-cyclic, q = 1', $series1 using 1:2 with linespoints lw 2 pt 4 ps 2 lc rgb '#d55e00' title 'qsa-cyclic, q = 2', $series2 using 1:2 with linespoints lw 2 pt 9 ps 1.4 lc rgb '#009e73' title 'qsa-rip, q = 1', $series3 using 1:2 with linespoints lw 2 pt 6 ps 2 lc rgb '#cc79a7' title 'qsa-rip, q = 2'
set terminal pngcairo size 960,640 noenhanced font 'sans,12'
set output 'p_star_qsa.png'
replot
unset output
