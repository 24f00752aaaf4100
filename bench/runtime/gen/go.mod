module meanwhile.bench/gen

go 1.19
