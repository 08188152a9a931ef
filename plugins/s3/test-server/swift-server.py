#!/usr/bin/python3
"""A single-node OpenStack Swift with the s3api middleware, on loopback, for tests and benchmarks.

Usage: swift-server.py STATE_DIR PORT
Runs the proxy (S3 endpoint http://127.0.0.1:PORT, access key `test:tester`, secret `testing`) and the
account, container and object servers on free ports, all in this process group, without /etc/swift and
without the swift-proxy package. Prints `ready http://127.0.0.1:PORT` on stdout once /healthcheck answers.
"""
import getpass
import multiprocessing
import os
import signal
import socket
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def configure(state, proxy_port):
    etc = os.path.join(state, 'etc')
    devices = os.path.join(state, 'devices')
    os.makedirs(etc, exist_ok=True)
    os.makedirs(os.path.join(devices, 'd1'), exist_ok=True)
    write(os.path.join(etc, 'swift.conf'),
          '[swift-hash]\nswift_hash_path_suffix = rast-test\n\n'
          '[storage-policy:0]\nname = default\ndefault = yes\n')
    from swift.common.ring import RingBuilder
    ports = {'account': free_port(), 'container': free_port(), 'object': free_port()}
    for name, port in ports.items():
        builder = RingBuilder(6, 1, 0)
        builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
                         'device': 'd1', 'weight': 100, 'meta': ''})
        builder.rebalance()
        builder.get_ring().save(os.path.join(etc, '%s.ring.gz' % name))
    common = ('[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %d\nworkers = 0\nmount_check = false\n'
              'user = %s\ndevices = %s\nswift_dir = %s\nlog_level = ERROR\nlog_address = /nonexistent\n'
              'log_facility = LOG_LOCAL0\n\n')
    user = getpass.getuser()
    configs = {}
    for name, port in ports.items():
        path = os.path.join(etc, '%s-server.conf' % name)
        write(path, common % (port, user, devices, etc) +
              '[pipeline:main]\npipeline = %s-server\n\n'
              '[app:%s-server]\nuse = egg:swift#%s\n' % (name, name, name))
        configs[name] = path
    path = os.path.join(etc, 'proxy-server.conf')
    write(path, common % (proxy_port, user, devices, etc) +
          '[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats '
          's3api tempauth copy slo dlo proxy-logging proxy-server\n\n'
          '[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n'
          '[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n\n'
          '[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n\n'
          '[filter:catch_errors]\nuse = egg:swift#catch_errors\n\n'
          '[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n\n'
          '[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n'
          '[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n\n'
          '[filter:cache]\nuse = egg:swift#memcache\n\n'
          '[filter:listing_formats]\nuse = egg:swift#listing_formats\n\n'
          '[filter:copy]\nuse = egg:swift#copy\n\n'
          '[filter:slo]\nuse = egg:swift#slo\n\n'
          '[filter:dlo]\nuse = egg:swift#dlo\n')
    configs['proxy'] = path
    return configs


def serve(conf_path, name):
    # Die with the launcher, whatever kills it.
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').prctl(1, signal.SIGKILL)
    except Exception:
        pass
    from swift.common.utils import set_swift_dir
    from swift.common.wsgi import run_wsgi
    set_swift_dir(os.path.dirname(conf_path))
    sys.exit(run_wsgi(conf_path, name))


def main():
    state, proxy_port = sys.argv[1], int(sys.argv[2])
    configs = configure(state, proxy_port)
    children = []
    for name in ('account', 'container', 'object', 'proxy'):
        child = multiprocessing.Process(target=serve, args=(configs[name], '%s-server' % name), daemon=True)
        child.start()
        children.append(child)

    def stop(*_):
        for child in children:
            if child.is_alive():
                child.kill()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/healthcheck' % proxy_port, timeout=1) as answer:
                if answer.status == 200:
                    break
        except Exception:
            pass
        if time.time() > deadline or not all(child.is_alive() for child in children):
            sys.stderr.write('swift-server: a server died or /healthcheck did not answer within 30 s\n')
            stop()
        time.sleep(0.1)
    sys.stdout.write('ready http://127.0.0.1:%d\n' % proxy_port)
    sys.stdout.flush()
    # Stop when the parent goes away (stdin closes) or on a signal.
    try:
        sys.stdin.read()
    finally:
        stop()


if __name__ == '__main__':
    main()
