package consensus

import "unsafe"

// directBlock is the unit of direct writes.
const directBlock = 4096

// alignedBlock returns a zeroed block whose address is a multiple of
// directBlock, as direct I/O requires.
func alignedBlock() []byte {
	b := make([]byte, 2*directBlock)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & (directBlock - 1))
	return b[skip : skip+directBlock : skip+directBlock]
}
