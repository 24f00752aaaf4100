module meanwhile/tests/growth/capture

go 1.26
