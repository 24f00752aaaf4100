module meanwhile.test/growth

go 1.26
