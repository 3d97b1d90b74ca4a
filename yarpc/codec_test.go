package yarpc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// marshalOnly implements encoding.BinaryMarshaler but not BinaryAppender.
type marshalOnly struct{ b []byte }

func (m *marshalOnly) MarshalBinary() ([]byte, error) { return m.b, nil }
func (m *marshalOnly) UnmarshalBinary(b []byte) error {
	m.b = append([]byte(nil), b...)
	return nil
}

func TestBinaryCodec(t *testing.T) {
	var c BinaryCodec
	b, err := c.Append([]byte("hdr"), &binMsg{N: 5, Payload: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, "hdr", string(b[:3]), "appends")
	var m binMsg
	require.NoError(t, c.Unmarshal(b[3:], &m))
	require.Equal(t, binMsg{N: 5, Payload: []byte("x")}, m)

	b, err = c.Append(nil, &marshalOnly{b: []byte("raw")})
	require.NoError(t, err)
	var mo marshalOnly
	require.NoError(t, c.Unmarshal(b, &mo))
	require.Equal(t, "raw", string(mo.b))

	b, err = c.Append(nil, &jsonMsg{Text: "t", N: 1})
	require.NoError(t, err)
	var j jsonMsg
	require.NoError(t, c.Unmarshal(b, &j))
	require.Equal(t, jsonMsg{Text: "t", N: 1}, j)
	require.ErrorContains(t, c.Unmarshal(b, &m), "JSON-encoded message")

	require.Error(t, c.Unmarshal(nil, &m))
	require.ErrorContains(t, c.Unmarshal([]byte{'?'}, &m), "unknown message encoding")
	_, err = c.Append(nil, make(chan int))
	require.Error(t, err)
}

func TestWithCodec(t *testing.T) {
	svr := &Server{}
	svr.HandleFunc("json", func(s Stream) error {
		var m binMsg // has binary methods, but the JSON codec ignores them
		if err := s.ReadMsg(&m); err != nil {
			return err
		}
		return s.WriteMsg(&jsonMsg{Text: string(m.Payload), N: int(m.N)})
	})
	ts := startServer(t, svr, WithCodec(JSONCodec{}))
	cc := ts.dial(t, WithCodec(JSONCodec{}))
	s, err := cc.OpenStream(context.Background(), "json")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.WriteMsg(&binMsg{N: 3, Payload: []byte("p")}))
	var out jsonMsg
	require.NoError(t, s.ReadMsg(&out))
	require.Equal(t, jsonMsg{Text: "p", N: 3}, out)
}
