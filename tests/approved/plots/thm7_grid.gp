# attnbounds plot 'thm7_grid': run `gnuplot thm7_grid.gp` to re-render thm7_grid.pdf and thm7_grid.png.
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
6 27
6 29
8 43
8 9
10 58
10 110
12 79
12 90
16 101
16 90
18 126
20 127
EOD
$series1 << EOD
18 128
20 128
36 128
36 128
EOD
$series2 << EOD
4.8 27.8576
5.205 36.886
5.61 48.8403
6.015 64.6689
6.42 85.6274
6.825 113.378
7.23 128
7.635 128
8.04 128
8.445 128
8.85 128
9.255 128
9.66 128
10.065 128
10.47 128
10.875 128
11.28 128
11.685 128
12.09 128
12.495 128
12.9 128
13.305 128
13.71 128
14.115 128
14.52 128
14.925 128
15.33 128
15.735 128
16.14 128
16.545 128
16.95 128
17.355 128
17.76 128
18.165 128
18.57 128
18.975 128
19.38 128
19.785 128
20.19 128
20.595 128
21 128
21.405 128
21.81 128
22.215 128
22.62 128
23.025 128
23.43 128
23.835 128
24.24 128
24.645 128
25.05 128
25.455 128
25.86 128
26.265 128
26.67 128
27.075 128
27.48 128
27.885 128
28.29 128
28.695 128
29.1 128
29.505 128
29.91 128
30.315 128
30.72 128
31.125 128
31.53 128
31.935 128
32.34 128
32.745 128
33.15 128
33.555 128
33.96 128
34.365 128
34.77 128
35.175 128
35.58 128
35.985 128
36.39 128
36.795 128
37.2 128
EOD
$series3 << EOD
7 4.24
7 132.76
EOD
set title 'Theorem 7 (n = 7): distinct messages against message bits'
set xlabel 'Bob''s message bits H(d''+1)w'
set ylabel 'distinct messages among 2^n = 128 sets'
set key outside center bottom horizontal maxrows 4
set grid
set xrange [4.8:37.2]
set yrange [4.24:132.76]
set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'
set output 'thm7_grid.pdf'
plot $series0 using 1:2 with points pt 7 ps 1.2 lc rgb '#d62728' title 'FAIL', $series1 using 1:2 with points pt 4 ps 2 lc rgb '#2ca02c' title 'pass', $series2 using 1:2 with lines lw 2 lc rgb '#7f7f7f' title 'at most min(2^bits, 2^n) messages', $series3 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'message-bit line: bits = n = 7'
set terminal pngcairo size 960,640 noenhanced font 'sans,12'
set output 'thm7_grid.png'
replot
unset output
