module meanwhile.bench/agent

go 1.19
