# attnbounds plot 'thm4_grid': run `gnuplot thm4_grid.gp` to re-render thm4_grid.pdf and thm4_grid.png.
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
2 1
3 4
4 7
4 1
5 13
6 17
6 6
6 1
8 11
8 1
9 10
10 21
10 1
12 29
12 23
12 15
15 29
15 17
16 31
18 31
EOD
$series1 << EOD
20 32
20 32
24 32
25 32
30 32
EOD
$series2 << EOD
75 32
100 32
125 32
147 32
150 32
196 32
EOD
$series3 << EOD
175 32
245 32
294 32
343 32
EOD
$series4 << EOD
1.62802 3.09088
1.76251 3.39287
1.90811 3.75316
2.06573 4.18646
2.23638 4.71213
2.42112 5.35588
2.62113 6.15231
2.83766 7.14858
3.07207 8.40981
3.32585 10.0272
3.6006 12.1307
3.89804 14.9082
4.22005 18.6364
4.56866 23.7303
4.94607 30.8259
5.35466 32
5.797 32
6.27589 32
6.79433 32
7.3556 32
7.96323 32
8.62107 32
9.33324 32
10.1042 32
10.9389 32
11.8426 32
12.8209 32
13.88 32
15.0266 32
16.268 32
17.6118 32
19.0667 32
20.6418 32
22.347 32
24.193 32
26.1916 32
28.3553 32
30.6976 32
33.2335 32
35.9789 32
38.9511 32
42.1688 32
45.6523 32
49.4236 32
53.5064 32
57.9265 32
62.7117 32
67.8922 32
73.5007 32
79.5725 32
86.1459 32
93.2623 32
100.967 32
109.307 32
118.337 32
128.113 32
138.696 32
150.153 32
162.557 32
175.986 32
190.524 32
206.263 32
223.302 32
241.749 32
261.719 32
283.34 32
306.746 32
332.086 32
359.519 32
389.218 32
421.371 32
EOD
$series5 << EOD
5 0
5 33.24
EOD
set title 'Theorem 4 (q = 5): distinct messages against message bits'
set xlabel 'Alice''s message bits (log scale)'
set ylabel 'distinct messages among 2^q = 32 sets'
set key outside center bottom horizontal maxrows 4
set grid
set logscale x 2
set xrange [1.6280188561185998:421.37104089537985]
set yrange [0:33.24]
set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'
set output 'thm4_grid.pdf'
plot $series0 using 1:2 with points pt 7 ps 1.2 lc rgb '#d62728' title 'random (fixed:1.(p-1)): collision', $series1 using 1:2 with points pt 4 ps 2 lc rgb '#ff7f0e' title 'random (fixed:1.(p-1)): inaccurate', $series2 using 1:2 with points pt 9 ps 1.4 lc rgb '#9467bd' title 'qsa-rip (float:p): inaccurate', $series3 using 1:2 with points pt 6 ps 2 lc rgb '#2ca02c' title 'qsa-rip (float:p): pass', $series4 using 1:2 with lines lw 2 lc rgb '#7f7f7f' title 'at most min(2^bits, 2^q) messages', $series5 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'message-bit line: bits = q = 5'
set terminal pngcairo size 960,640 noenhanced font 'sans,12'
set output 'thm4_grid.png'
replot
unset output
