# attnbounds plot 'learn_test_error': run `gnuplot learn_test_error.gp` to re-render learn_test_error.pdf and learn_test_error.png.
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
50 0.0403524948761531
200 0.006823172165131877
800 0.002452421837665656
EOD
$series1 << EOD
50 0.07283603005575787
200 0.007498186157517752
800 0.002273288741410082
EOD
$series2 << EOD
50 0.06000952148527375
200 0.007785452288624512
800 0.0022813234663343596
EOD
$series3 << EOD
50 0.2739805586178787
200 0.15655219593056863
800 0.06933329833032097
EOD
$series4 << EOD
50 0.33017309646947646
200 0.3141907489075837
800 0.28957561870192805
EOD
$series5 << EOD
50 0.33907021962426936
200 0.33566956725268626
800 0.321899555386672
EOD
set title 'Learning qSA: mean test error against training samples'
set xlabel 'training samples (log scale)'
set ylabel 'mean test error (log scale)'
set key outside right top
set grid
set logscale x 2
set logscale y
set xrange [41.66666666666667:960]
set yrange [0.0018608407124599874:0.4142238009186235]
set terminal pdfcairo size 6in,4in noenhanced font 'sans,10'
set output 'learn_test_error.pdf'
plot $series0 using 1:2 with linespoints lw 2 pt 7 ps 1.2 lc rgb '#0072b2' title 'attention N = 4', $series1 using 1:2 with linespoints lw 2 pt 4 ps 2 lc rgb '#d55e00' title 'attention N = 8', $series2 using 1:2 with linespoints lw 2 pt 9 ps 1.4 lc rgb '#009e73' title 'attention N = 16', $series3 using 1:2 with linespoints lw 2 pt 6 ps 2 lc rgb '#cc79a7' title 'fc N = 4', $series4 using 1:2 with linespoints lw 2 pt 13 ps 1.4 lc rgb '#e69f00' title 'fc N = 8', $series5 using 1:2 with linespoints lw 2 pt 8 ps 2 lc rgb '#56b4e9' title 'fc N = 16'
set terminal pngcairo size 960,640 noenhanced font 'sans,12'
set output 'learn_test_error.png'
replot
unset output
