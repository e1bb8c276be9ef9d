package capture

// Builders for hand-made capture files. The shared tcpdump captures are all
// well-formed at the file level and contain no SLL2 and no big-endian pcapng,
// so those cases, and every kind of file-level damage, are built here.

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"arplab/internal/wire/arp"
)

var (
	leOrder byteOrder = binary.LittleEndian
	beOrder byteOrder = binary.BigEndian

	macA = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	ipA  = netip.MustParseAddr("10.0.0.10")
	ipB  = netip.MustParseAddr("10.0.0.11")
)

// byteOrder is what both binary.LittleEndian and binary.BigEndian offer.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pcapFile builds a classic pcap file in the given byte order.
type pcapFile struct {
	order byteOrder
	magic uint32
	buf   bytes.Buffer
}

func newPcapFile(order byteOrder, magic uint32, linkType uint32) *pcapFile {
	p := &pcapFile{order: order, magic: magic}
	var h [24]byte
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], MaxSnapLen)
	order.PutUint32(h[20:], linkType)
	p.buf.Write(h[:])
	return p
}

// record appends a record; origLen 0 means len(data).
func (p *pcapFile) record(sec, frac uint32, data []byte, origLen int) *pcapFile {
	if origLen == 0 {
		origLen = len(data)
	}
	var h [16]byte
	p.order.PutUint32(h[0:], sec)
	p.order.PutUint32(h[4:], frac)
	p.order.PutUint32(h[8:], uint32(len(data)))
	p.order.PutUint32(h[12:], uint32(origLen))
	p.buf.Write(h[:])
	if p.magic == magicKuznetzov {
		p.buf.Write(make([]byte, 8)) // ifindex, protocol, pkt_type, pad: set by the caller
	}
	p.buf.Write(data)
	return p
}

func (p *pcapFile) bytes() []byte { return bytes.Clone(p.buf.Bytes()) }

// ngFile builds a pcapng file block by block.
type ngFile struct {
	order byteOrder
	buf   bytes.Buffer
}

func newNgFile() *ngFile { return &ngFile{} }

// ngOpt is one option: code and value (padding is added).
type ngOpt struct {
	code uint16
	val  []byte
}

func (n *ngFile) opts(opts []ngOpt) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b []byte
	for _, o := range opts {
		b = n.order.AppendUint16(b, o.code)
		b = n.order.AppendUint16(b, uint16(len(o.val)))
		b = append(b, o.val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, 0, 0, 0, 0) // opt_endofopt
}

// block appends a block with a correct length and trailer.
func (n *ngFile) block(typ uint32, body []byte) *ngFile {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	var b []byte
	b = n.order.AppendUint32(b, typ)
	b = n.order.AppendUint32(b, l)
	b = append(b, body...)
	b = n.order.AppendUint32(b, l)
	n.buf.Write(b)
	return n
}

// section starts a section in the given byte order.
func (n *ngFile) section(order byteOrder) *ngFile {
	n.order = order
	body := order.AppendUint32(nil, ngByteOrderMagic)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = append(body, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // section length: unknown
	return n.block(ngSHB, body)
}

func (n *ngFile) iface(link LinkType, snap uint32, opts ...ngOpt) *ngFile {
	body := n.order.AppendUint16(nil, uint16(link))
	body = append(body, 0, 0)
	body = n.order.AppendUint32(body, snap)
	return n.block(ngIDB, append(body, n.opts(opts)...))
}

func (n *ngFile) epb(ifid uint32, ts uint64, data []byte, opts ...ngOpt) *ngFile {
	body := n.order.AppendUint32(nil, ifid)
	body = n.order.AppendUint32(body, uint32(ts>>32))
	body = n.order.AppendUint32(body, uint32(ts))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return n.block(ngEPB, append(body, n.opts(opts)...))
}

// pb appends an obsolete Packet Block.
func (n *ngFile) pb(ifid uint16, ts uint64, data []byte) *ngFile {
	body := n.order.AppendUint16(nil, ifid)
	body = n.order.AppendUint16(body, 0) // drops
	body = n.order.AppendUint32(body, uint32(ts>>32))
	body = n.order.AppendUint32(body, uint32(ts))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = n.order.AppendUint32(body, uint32(len(data)))
	return n.block(ngPB, append(body, data...))
}

func (n *ngFile) spb(origLen uint32, data []byte) *ngFile {
	return n.block(ngSPB, append(n.order.AppendUint32(nil, origLen), data...))
}

func (n *ngFile) bytes() []byte { return bytes.Clone(n.buf.Bytes()) }

func u32opt(order byteOrder, code uint16, v uint32) ngOpt {
	return ngOpt{code: code, val: order.AppendUint32(nil, v)}
}

func u64opt(order byteOrder, code uint16, v uint64) ngOpt {
	return ngOpt{code: code, val: order.AppendUint64(nil, v)}
}

// isb appends an Interface Statistics Block with isb_endtime.
func (n *ngFile) isb(ifid uint32, ts, end uint64) *ngFile {
	body := n.order.AppendUint32(nil, ifid)
	body = n.order.AppendUint32(body, uint32(ts>>32))
	body = n.order.AppendUint32(body, uint32(ts))
	endOpt := n.order.AppendUint32(nil, uint32(end>>32))
	endOpt = n.order.AppendUint32(endOpt, uint32(end))
	return n.block(ngISB, append(body, n.opts([]ngOpt{{code: optIsbEndtime, val: endOpt}})...))
}
