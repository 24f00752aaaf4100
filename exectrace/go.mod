module github.com/meanwhile-dev/meanwhile/exectrace

go 1.26.0

require (
	golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4
	google.golang.org/protobuf v1.36.12
)
