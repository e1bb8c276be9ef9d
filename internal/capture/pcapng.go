package capture

import (
	"arplab/internal/wire/ether"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"
)

// pcapng block types and option codes (draft-ietf-opsawg-pcapng, §4 and
// §4.2-4.4, §4.6). Only the blocks that carry packets or describe how to
// read them are parsed, and the statistics block for the time the capture
// ended; every other block (name resolution, decryption secrets, custom)
// is stepped over by its length.
const (
	ngSHB = 0x0a0d0d0a // Section Header Block
	ngIDB = 1          // Interface Description Block
	ngPB  = 2          // Packet Block (obsolete, still written by old tools)
	ngSPB = 3          // Simple Packet Block
	ngISB = 5          // Interface Statistics Block
	ngEPB = 6          // Enhanced Packet Block

	ngByteOrderMagic = 0x1a2b3c4d
	ngVersionMajor   = 1
	ngMinBlock       = 12 // type, length, trailing length

	optIfTsresol  = 9  // IDB: timestamp resolution, 1 byte
	optIfTsoffset = 14 // IDB: seconds added to every timestamp, 8 bytes
	optEpbFlags   = 2  // EPB/PB: direction and reception type, 4 bytes
	optIsbEndtime = 3  // ISB: when the capture of the interface ended, 8 bytes
)

// ngMaxBlock is the largest block accepted: libpcap's initial limit. Larger
// lengths are taken as corruption rather than as a reason to read gigabytes.
const ngMaxBlock = 16 << 20

// ngIface is what a packet block needs from its Interface Description Block.
type ngIface struct {
	link LinkType
	snap uint32
	skip string // skip reason when link is unsupported, built once so Next does not allocate
	// Timestamps count units of 10^-exp s (decimal) or 2^-exp s (binary);
	// decimal ones convert as ts*mul/div, one of the two being 1.
	binary   bool
	exp      uint8
	mul, div uint64
	offset   int64 // if_tsoffset, seconds
}

// nanos converts a raw 64-bit timestamp to nanoseconds since the epoch.
// Times past the year 2262 do not fit an int64 and wrap, without error.
func (i *ngIface) nanos(ts uint64) int64 {
	var ns uint64
	switch {
	case !i.binary:
		ns = ts * i.mul / i.div
	case i.exp == 0:
		ns = ts * 1e9
	default:
		// Split off whole seconds so the fraction's product with 1e9 is
		// exact in 128 bits, then shift back down.
		frac := ts & (1<<i.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = (ts>>i.exp)*1e9 + (hi<<(64-i.exp) | lo>>i.exp)
	}
	return int64(ns) + i.offset*1e9
}

// ngState is the pcapng part of Reader.
type ngState struct {
	sections int       // section headers read
	ifaces   []ngIface // interfaces of the current section, by ID
	links    []LinkType
	// end is the latest isb_endtime read (ns), when hasEnd.
	end    int64
	hasEnd bool
}

// openPcapng reads the section header and, when there is one, the first
// interface description, so that a bad file fails at Open and LinkType
// already knows the link type.
func (r *Reader) openPcapng() error {
	r.format = formatPcapng
	for len(r.ng.ifaces) == 0 {
		_, err := r.ngBlock()
		if r.ng.sections == 0 {
			if err == io.EOF {
				return r.errorf(0, 0, "section header block is truncated: %w", io.ErrUnexpectedEOF)
			}
			return err
		}
		if err == io.EOF {
			return nil // a header-only file: Next reports io.EOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) nextPcapng() (*Frame, error) {
	for {
		ok, err := r.ngBlock()
		if err != nil {
			return nil, err
		}
		if ok {
			return &r.frame, nil
		}
	}
}

// ngBlock reads one block. It reports true when the block was a packet that
// r.frame now holds; false for any other block and for skipped packets.
// Every error it returns is also stored in r.err.
func (r *Reader) ngBlock() (bool, error) {
	s := r.src
	off := s.off
	if !s.fill(8) {
		return false, r.endOfInput()
	}
	b := s.unread()
	typ := r.u32(b[0:4]) // the SHB type reads the same in either byte order
	if typ == ngSHB {
		// A section header sets the byte order for everything up to the
		// next one, its own length field included.
		if !s.fill(12) {
			return false, r.endOfInput()
		}
		b = s.unread()
		switch bom := binary.LittleEndian.Uint32(b[8:12]); bom {
		case ngByteOrderMagic:
			r.big = false
		case 0x4d3c2b1a:
			r.big = true
		default:
			return false, r.fail(r.errorf(off+8, 0, "%w: section header byte-order magic is %#08x", ErrCorrupt, bom))
		}
	}
	length := r.u32(b[4:8])
	if length < ngMinBlock || length%4 != 0 || length > ngMaxBlock {
		return false, r.fail(r.errorf(off+4, 0,
			"%w: block of type %#x has length %d (want a multiple of 4 from %d to %d)",
			ErrCorrupt, typ, length, ngMinBlock, ngMaxBlock))
	}
	switch typ {
	case ngSHB, ngIDB, ngEPB, ngSPB, ngPB, ngISB:
	default:
		if !s.discard(int64(length)-4) || !s.fill(4) {
			return false, r.endOfInput()
		}
		if err := r.ngTrailer(off, length, s.unread()); err != nil {
			return false, err
		}
		s.advance(4)
		return false, nil
	}
	if typ == ngEPB || typ == ngSPB || typ == ngPB {
		r.index++
	}
	if !s.fill(int(length)) {
		return false, r.endOfInput()
	}
	blk := s.unread()[:length]
	if err := r.ngTrailer(off, length, blk[length-4:]); err != nil {
		return false, err
	}
	s.advance(int(length))
	body := blk[8 : length-4]
	switch typ {
	case ngSHB:
		return false, r.ngSection(off, body)
	case ngIDB:
		return false, r.ngInterface(off, body)
	case ngISB:
		r.ngStatistics(body)
		return false, nil
	}
	return r.ngPacket(off, typ, body)
}

// ngStatistics reads an Interface Statistics Block's isb_endtime: when
// the capture ended, which may be well after its last packet. A damaged or
// unknown statistics block only loses that time: it says nothing about
// how to read the packets.
func (r *Reader) ngStatistics(body []byte) {
	if len(body) < 12 {
		return
	}
	id := r.u32(body[0:4])
	if int(id) >= len(r.ng.ifaces) {
		return
	}
	for pos := 12; pos+4 <= len(body); {
		code, n := r.u16(body[pos:]), int(r.u16(body[pos+2:]))
		if code == 0 || pos+4+n > len(body) {
			return
		}
		if code == optIsbEndtime && n == 8 {
			v := body[pos+4 : pos+12]
			ts := uint64(r.u32(v[0:4]))<<32 | uint64(r.u32(v[4:8]))
			if ns := r.ng.ifaces[id].nanos(ts); !r.ng.hasEnd || ns > r.ng.end {
				r.ng.end, r.ng.hasEnd = ns, true
			}
		}
		pos += 4 + (n+3)&^3
	}
}

// EndTime is when the capture ended by its own account (pcapng's
// isb_endtime, the latest of its interfaces), known once the statistics
// blocks have been read — usually at the end of the file.
func (r *Reader) EndTime() (ns int64, ok bool) { return r.ng.end, r.ng.hasEnd }

// ngTrailer checks the copy of the block length that ends every block; a
// mismatch means the lengths cannot be trusted to find the next block.
func (r *Reader) ngTrailer(off int64, length uint32, b []byte) error {
	if t := r.u32(b); t != length {
		return r.fail(r.errorf(off+int64(length)-4, 0,
			"%w: block's trailing length %d does not match its leading length %d", ErrCorrupt, t, length))
	}
	return nil
}

// ngSection handles a Section Header Block: a new section starts with no
// interfaces. body starts at the byte-order magic.
func (r *Reader) ngSection(off int64, body []byte) error {
	if len(body) < 16 { // byte-order magic, major, minor, section length
		return r.fail(r.errorf(off, 0, "%w: section header block is %d bytes, want at least 28", ErrCorrupt, len(body)+12))
	}
	if major, minor := r.u16(body[4:6]), r.u16(body[6:8]); major != ngVersionMajor {
		return r.fail(r.errorf(off+12, 0, "%w: pcapng version %d.%d, want 1.x", ErrCorrupt, major, minor))
	}
	r.ng.sections++
	r.ng.ifaces = r.ng.ifaces[:0]
	return nil
}

// ngInterface handles an Interface Description Block. Unlike packet-block
// options, damaged interface options are an error: without if_tsresol every
// timestamp of the interface would be silently wrong.
func (r *Reader) ngInterface(off int64, body []byte) error {
	if len(body) < 8 {
		return r.fail(r.errorf(off, 0, "%w: interface description block is %d bytes, want at least 20", ErrCorrupt, len(body)+12))
	}
	ifc := ngIface{
		link: LinkType(r.u16(body[0:2])),
		snap: r.u32(body[4:8]),
		exp:  6, mul: 1000, div: 1, // default resolution: microseconds
	}
	for pos := 8; pos+4 <= len(body); {
		code, n := r.u16(body[pos:]), int(r.u16(body[pos+2:]))
		if code == 0 {
			break
		}
		if pos+4+n > len(body) {
			return r.fail(r.errorf(off+8+int64(pos), 0, "%w: interface option %d of length %d runs past the block", ErrCorrupt, code, n))
		}
		v := body[pos+4 : pos+4+n]
		switch {
		case code == optIfTsresol && n >= 1:
			ifc.binary, ifc.exp = v[0]&0x80 != 0, v[0]&0x7f
			if ifc.binary && ifc.exp > 63 || !ifc.binary && ifc.exp > 19 {
				return r.fail(r.errorf(off+8+int64(pos), 0, "%w: if_tsresol %#02x is finer than a 64-bit timestamp can count", ErrCorrupt, v[0]))
			}
			if !ifc.binary {
				ifc.mul, ifc.div = 1, 1
				for e := ifc.exp; e < 9; e++ {
					ifc.mul *= 10
				}
				for e := ifc.exp; e > 9; e-- {
					ifc.div *= 10
				}
			}
		case code == optIfTsoffset && n >= 8:
			if r.big {
				ifc.offset = int64(binary.BigEndian.Uint64(v))
			} else {
				ifc.offset = int64(binary.LittleEndian.Uint64(v))
			}
		}
		pos += 4 + (n+3)&^3
	}
	if !ifc.link.supported() {
		ifc.skip = unsupportedReason(ifc.link)
	}
	if !slices.Contains(r.ng.links, ifc.link) {
		r.ng.links = append(r.ng.links, ifc.link)
	}
	r.ng.ifaces = append(r.ng.ifaces, ifc)
	return nil
}

// ngPacket handles the three packet block types.
func (r *Reader) ngPacket(off int64, typ uint32, body []byte) (bool, error) {
	var (
		ifid            uint32
		ts              uint64
		capLen, origLen uint32
		data, opts      []byte
	)
	if typ == ngSPB {
		// origlen(4) data: no interface ID (always 0), no timestamp, and
		// the captured length is implied by the block and the snap length.
		if len(body) < 4 {
			return false, r.fail(r.errorf(off, r.index, "%w: simple packet block is %d bytes, want at least 16", ErrCorrupt, len(body)+12))
		}
		if len(r.ng.ifaces) == 0 {
			return false, r.fail(r.errorf(off, r.index, "%w: packet before any interface description", ErrCorrupt))
		}
		origLen = r.u32(body[0:4])
		capLen = min(origLen, uint32(len(body)-4))
		if s := r.ng.ifaces[0].snap; s != 0 {
			capLen = min(capLen, s)
		}
		data = body[4 : 4+capLen]
	} else {
		// EPB: ifid(4) ts_high(4) ts_low(4) caplen(4) origlen(4) data options
		// PB:  ifid(2) drops(2) then the same
		if len(body) < 20 {
			return false, r.fail(r.errorf(off, r.index, "%w: packet block is %d bytes, want at least 32", ErrCorrupt, len(body)+12))
		}
		if typ == ngEPB {
			ifid = r.u32(body[0:4])
		} else {
			ifid = uint32(r.u16(body[0:2]))
		}
		ts = uint64(r.u32(body[4:8]))<<32 | uint64(r.u32(body[8:12]))
		capLen, origLen = r.u32(body[12:16]), r.u32(body[16:20])
		if capLen > uint32(len(body)-20) {
			return false, r.fail(r.errorf(off+20, r.index,
				"%w: captured length %d exceeds the %d bytes in the block", ErrCorrupt, capLen, len(body)-20))
		}
		data = body[20 : 20+capLen]
		opts = body[min(len(body), 20+int(capLen+3)&^3):]
	}
	if int(ifid) >= len(r.ng.ifaces) {
		return false, r.fail(r.errorf(off+8, r.index,
			"%w: packet for interface %d, but the section describes %d", ErrCorrupt, ifid, len(r.ng.ifaces)))
	}
	ifc := &r.ng.ifaces[ifid]
	f := &r.frame
	f.Index = r.index
	f.Time = 0
	if typ != ngSPB {
		f.Time = ifc.nanos(ts)
	}
	f.CapLen, f.OrigLen = int(capLen), int(origLen)
	f.Interface = int(ifid)
	if ifc.skip != "" {
		r.skipped[ifc.skip]++
		return false, nil
	}
	if reason := decodeLink(f, &r.tags, ifc.link, data); reason != "" {
		r.skipped[reason]++
		return false, nil
	}
	if !f.HasPktType && len(opts) > 0 {
		f.PktType, f.HasPktType = r.ngFlags(opts)
	}
	return true, nil
}

// ngFlags reads the packet type from an epb_flags option: bits 0-1 are the
// direction (2 = outbound), bits 2-4 the reception type (1 unicast, 2
// multicast, 3 broadcast, 4 promiscuous). dumpcap derives these from the
// same PACKET_* value SLL records. Damaged options only lose the flags.
func (r *Reader) ngFlags(opts []byte) (ether.PktType, bool) {
	for len(opts) >= 4 {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			return 0, false
		}
		if code == optEpbFlags && n == 4 {
			fl := r.u32(opts[4:8])
			if fl&3 == 2 {
				return ether.PktOutgoing, true
			}
			switch (fl >> 2) & 7 {
			case 1:
				return ether.PktHost, true
			case 2:
				return ether.PktMulticast, true
			case 3:
				return ether.PktBroadcast, true
			case 4:
				return ether.PktOtherHost, true
			}
			return 0, false
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	return 0, false
}
