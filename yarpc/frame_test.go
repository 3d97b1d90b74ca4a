package yarpc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFrameHeaderRoundTrip(t *testing.T) {
	for _, h := range []frameHeader{
		{kindHello, 0, 0},
		{kindInvoke, 1, 4},
		{kindMessage, 1<<32 - 1, 1000},
		{kindMessage, 3, 0},
		{kindCloseSend, 2, 0},
		{kindError, 9, 4},
		{kindCancel, 5, 0},
		{kindWindow, 5, 4},
		{kindGoAway, 0, 0},
	} {
		b := appendFrameHeader(nil, h.kind, h.stream, int(h.length))
		require.Len(t, b, frameHeaderBytes)
		got, err := parseFrameHeader(b)
		require.NoError(t, err, h.kind.String())
		require.Equal(t, h, got)
	}
}

func TestFrameHeaderRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":              {ProtocolVersion, byte(kindHello)},
		"version":            {2, byte(kindHello), 0, 0, 0, 0, 0, 0, 0, 0},
		"kind 0":             {ProtocolVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"kind 99":            {ProtocolVersion, 99, 0, 0, 0, 0, 0, 0, 0, 0},
		"hello with stream":  appendFrameHeader(nil, kindHello, 1, 0),
		"hello with payload": appendFrameHeader(nil, kindHello, 0, 1),
		"message stream 0":   appendFrameHeader(nil, kindMessage, 0, 1),
		"empty invoke":       appendFrameHeader(nil, kindInvoke, 1, 0),
		"long invoke":        appendFrameHeader(nil, kindInvoke, 1, maxMethodBytes+1),
		"window of 3":        appendFrameHeader(nil, kindWindow, 1, 3),
		"cancel payload":     appendFrameHeader(nil, kindCancel, 1, 1),
	} {
		_, err := parseFrameHeader(b)
		require.ErrorIs(t, err, ErrProtocol, name)
	}
}

func TestFrameReaderHugeClaimDoesNotAllocate(t *testing.T) {
	b := appendFrameHeader(nil, kindMessage, 1, 1<<32-1)
	fr := frameReader{r: bufio.NewReader(bytes.NewReader(b)), maxBytes: 1 << 20}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, buf, err := fr.readFrame()
	runtime.ReadMemStats(&after)
	require.Nil(t, buf)
	require.Error(t, err)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))

	// A skipped frame leaves the reader in sync for the next one.
	b = append(append(appendFrameHeader(nil, kindMessage, 1, 20), make([]byte, 20)...), appendFrameHeader(nil, kindCloseSend, 1, 0)...)
	fr = frameReader{r: bufio.NewReader(bytes.NewReader(b)), maxBytes: 10}
	_, _, err = fr.readFrame()
	require.ErrorIs(t, err, errFrameTooLarge)
	h, _, err := fr.readFrame()
	require.NoError(t, err)
	require.Equal(t, kindCloseSend, h.kind)
}

// FuzzFrameDecoder feeds arbitrary bytes to the frame reader: it must not
// panic, must return only frames that re-encode to the bytes read, and must
// never hand out a payload over its limit.
func FuzzFrameDecoder(f *testing.F) {
	f.Add(hello())
	f.Add(append(hello(), frame(kindInvoke, 1, []byte("echo"))...))
	f.Add(frame(kindMessage, 1, []byte("bpayload")))
	f.Add(frame(kindWindow, 1, []byte{0, 0, 1, 0}))
	f.Add(frame(kindError, 1, []byte{0, 0, 0, 5, 'n', 'o'}))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(appendFrameHeader(nil, kindMessage, 1, 1<<32-1))
	const limit = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := frameReader{r: bufio.NewReader(bytes.NewReader(data)), maxBytes: limit}
		off := 0
		for {
			h, buf, err := fr.readFrame()
			if errors.Is(err, errFrameTooLarge) {
				if h.kind != kindMessage && h.kind != kindError || h.length <= limit {
					t.Fatalf("too large: %+v", h)
				}
				off += frameHeaderBytes + int(h.length)
				continue
			}
			if err != nil {
				return
			}
			n := 0
			if buf != nil {
				n = len(*buf)
			}
			if n != int(h.length) || ((h.kind == kindMessage || h.kind == kindError) && n > limit) {
				t.Fatalf("payload of %d bytes for %+v", n, h)
			}
			want := data[off : off+frameHeaderBytes+n]
			got := appendFrameHeader(nil, h.kind, h.stream, n)
			if buf != nil {
				got = append(got, *buf...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame %+v re-encodes to %x, read from %x", h, got, want)
			}
			putBuffer(buf)
			off += len(want)
		}
	})
}

// FuzzServerConn feeds arbitrary bytes, after a hello, to a server
// connection: nothing may panic or hang, and the session must end when the
// client goes away.
func FuzzServerConn(f *testing.F) {
	f.Add(frame(kindInvoke, 1, []byte("echo")))
	f.Add(append(frame(kindInvoke, 1, []byte("echo")), frame(kindMessage, 1, append([]byte{tagBinary}, make([]byte, 8)...))...))
	f.Add(append(frame(kindInvoke, 2, []byte("echo")), frame(kindCloseSend, 2, nil)...))
	f.Add(append(frame(kindInvoke, 1, []byte("echo")), frame(kindCancel, 1, nil)...))
	f.Add(append(frame(kindInvoke, 1, []byte("nope")), frame(kindWindow, 1, []byte{0, 0, 0, 9})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		svr := echoServer()
		client, server := net.Pipe()
		cfg := newConfig([]Option{WithShutdownTimeout(time.Millisecond), WithMaxMessageBytes(128)})
		svr.mu.Lock()
		svr.sessions = make(map[*session]struct{})
		svr.mu.Unlock()
		svr.serveConn(server, cfg)
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_, _ = client.Write(hello())
		_, _ = client.Write(data)
		_ = client.Close()
		if err := svr.Shutdown(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInvokeRoundTrip(t *testing.T) {
	b, err := (&Invoke{Method: "paxos.Acceptor/Prepare"}).AppendBinary([]byte{1})
	require.NoError(t, err)
	var got Invoke
	require.NoError(t, got.UnmarshalBinary(b[1:]))
	require.Equal(t, "paxos.Acceptor/Prepare", got.Method)
	require.ErrorIs(t, got.UnmarshalBinary(nil), ErrProtocol)
	_, err = (&Invoke{}).AppendBinary(nil)
	require.Error(t, err)
}
