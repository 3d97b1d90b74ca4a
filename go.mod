module github.com/mjpitz/myago/paxos

go 1.25.0
