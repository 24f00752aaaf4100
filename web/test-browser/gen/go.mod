module meanwhile/web/test-browser/gen

go 1.26
