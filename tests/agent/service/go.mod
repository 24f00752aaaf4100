module meanwhile.agent/service

go 1.19
