module meanwhile.bench/runtimebytes/load

go 1.19
