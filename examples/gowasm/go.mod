module example.com/resumer-gowasm

go 1.26

require github.com/go-resumer/resumer v0.0.0

require (
	github.com/hack-pad/go-indexeddb v0.3.2 // indirect
	github.com/hack-pad/safejs v0.1.0 // indirect
)

replace github.com/go-resumer/resumer => ../..
