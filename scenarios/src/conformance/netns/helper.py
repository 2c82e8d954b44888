# vicbed conformance: listeners in a lab namespace (see netns.rs).
import socket, sys, threading, time
def tcp(s, port):
    while True:
        c, _ = s.accept()
        try:
            c.sendall(str(port).encode())
        finally:
            c.close()
def udp(s, port, echo):
    while True:
        data, addr = s.recvfrom(2048)
        print('udp %d %s' % (port, addr[0]), flush=True)
        if echo:
            s.sendto(b'reply', addr)
for spec in sys.argv[1:]:
    kind, port = spec.split(':')
    port = int(port)
    if kind == 'tcp':
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', port))
        s.listen(16)
        threading.Thread(target=tcp, args=(s, port), daemon=True).start()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', port))
        threading.Thread(target=udp, args=(s, port, kind == 'udpecho'), daemon=True).start()
print('ready', flush=True)
time.sleep(120)
