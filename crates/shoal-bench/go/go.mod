module shoal-bench/gopool

go 1.19
