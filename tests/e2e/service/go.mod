module meanwhile.e2e/service

go 1.19
