# vicbed conformance: one probe from a lab namespace (see netns.rs).
import os, socket, struct, sys, time
mode, src, dst, port, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
try:
    if mode == 'tcp':
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if src != '-':
            s.bind((src, 0))
        s.connect((dst, port))
        print('data ' + s.recv(64).decode(errors='replace'))
    elif mode == 'udp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if src != '-':
            s.bind((src, 0))
        s.sendto(b'vicbed', (dst, port))
        print('sent')
    elif mode == 'dhcp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(timeout)
        s.bind(('0.0.0.0', 68))
        s.sendto(b'vicbed', (dst, port))
        data, addr = s.recvfrom(2048)
        print('data %d' % addr[1])
    elif mode == 'icmp':
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.bind((src, 0))
        ident = os.getpid() & 0xffff
        body = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + b'vicbed'
        s.sendto(struct.pack('!BBHHH', 8, 0, checksum(body), ident, 1) + b'vicbed', (dst, 0))
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            data, addr = s.recvfrom(2048)
            ihl = (data[0] & 0x0f) * 4
            kind, _, _, rid, _ = struct.unpack('!BBHHH', data[ihl:ihl + 8])
            if kind == 0 and rid == ident and addr[0] == dst:
                print('reply')
                break
    else:
        print('error unknown probe ' + mode)
except socket.timeout:
    print('timeout')
except ConnectionRefusedError:
    print('refused')
except PermissionError:
    print('eperm')
except OSError as e:
    print('error %s' % e)
