module github.com/batonmq/baton

go 1.26
