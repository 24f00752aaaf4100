module meanwhile.capture/runtime

go 1.19
