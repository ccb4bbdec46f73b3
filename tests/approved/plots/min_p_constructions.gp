# attnbounds plot 'min_p_constructions': run `gnuplot min_p_constructions.gp` to re-render min_p_constructions.pdf and min_p_constructions.png.
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
1 23
2 5
3 2
4 2
5 10
6 10
EOD
$series1 << EOD
1 23
2 10
3 2
4 3
5 12
6 13
EOD
set title 'Minimal precision p* per construction'
set xlabel 'construction'
set ylabel 'p* (significand bits)'
set key outside right top
set grid
set xtics ('qsa-cyclic (N=16, q=2)' 1, 'qsa-rip (N=16, q=2)' 2, 'match2 (N=4, M=8)' 3, 'match3-third-order (N=3, M=6)' 4, 'match3-hinted (N=5, M=7, q=2)' 5, 'match3-window (N=6, M=7, w=2)' 6) rotate by 30 right
set bmargin 11
set lmargin 19
set xrange [0.5:6.5]
set yrange [1.1600000000000001:23.84]
set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'
set output 'min_p_constructions.pdf'
plot $series0 using 1:2 with points pt 7 ps 1.2 lc rgb '#1f77b4' title 'embed', $series1 using 1:2 with points pt 4 ps 2 lc rgb '#d62728' title 'arith'
set terminal pngcairo size 960,640 noenhanced font 'sans,12'
set output 'min_p_constructions.png'
replot
unset output
