#!/usr/bin/python3
# smtpsink.py HOST PORT STATE_DIR: an aiosmtpd server for the relay tests.
# Records every transaction as one JSON line in STATE_DIR/mail.jsonl (with
# "conn": the number of its connection, 1 = the first this server took) and
# reads STATE_DIR/conf.json at every connection and command:
#   rcpt: {address: reply}   a reply for that RCPT (any text, sent as is)
#   lack: [EXT...]           EHLO keywords not offered (PIPELINING, 8BITMIME,
#                            SMTPUTF8, DSN, SIZE)
#   size: N                  SIZE limit announced (and enforced)
#   stall_data: SECONDS      wait that long before answering the dot
#   greeting: TEXT           answer the connection with TEXT, then hang up
#   data_reply: TEXT         the answer to the dot
#   no_ehlo: true            EHLO is refused (502): the client must say HELO
#   tls: {cert: F, key: F}   offer STARTTLS with that certificate and key
#   tls_max: "TLSv1_1"       the highest TLS version it takes (a handshake
#                            with a TLS 1.2+ client then fails)
#   wrapper: true            TLS from the first byte (port 465 style) with
#                            the tls certificate; read once, at start
#   auth: {user: U, password: P}
#                            offer AUTH PLAIN and LOGIN (after STARTTLS only)
#                            and require it before MAIL (530); other
#                            credentials get "535 5.7.8 Authentication
#                            credentials invalid"
# Each record also says whether the transaction ran over TLS ("tls") and
# which AUTH succeeded ("auth": [mechanism, user, password] or null).
# A rcpt reply that starts with "!close " sends the rest (no final line)
# and hangs up.
# Writes STATE_DIR/ready when it listens, and STATE_DIR/maxconc (written
# anew, atomically, each time it grows): the most SMTP connections it held
# open at once.
import asyncio, base64, json, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, Envelope

host, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def conf():
    try:
        with open(os.path.join(state, 'conf.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def split_params(arg, names):
    """Removes NAME=... parameters of arg; returns (rest, [removed])."""
    if arg is None:
        return arg, []
    words = arg.split(' ')
    keep, taken = [], []
    for i, w in enumerate(words):
        if i > 0 and w.split('=', 1)[0].upper() in names:
            taken.append(w)
        else:
            keep.append(w)
    return ' '.join(keep), taken

class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        lack = conf().get('lack', [])
        out = [r for r in responses[:-1]
               if r[4:].split(' ')[0].upper() not in lack]
        for ext in ('PIPELINING', 'DSN'):
            if ext not in lack:
                out.append('250-' + ext)
        out.append('250 HELP')
        return out

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = conf().get('rcpt', {}).get(address)
        if reply and reply.startswith('!close '):
            server.transport.write(reply[7:].encode() + b'\r\n')
            server.transport.close()
            return '250 unreachable'
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        session.rcpt_dsn.append(session.pending_dsn)
        return '250 2.1.5 Ok'

    async def handle_DATA(self, server, session, envelope):
        c = conf()
        if c.get('stall_data'):
            await asyncio.sleep(c['stall_data'])
        rec = {
            'helo': session.host_name,
            'mail_from': envelope.mail_from,
            'mail_options': envelope.mail_options,
            'mail_dsn': session.mail_dsn,
            'rcpt_tos': envelope.rcpt_tos,
            'rcpt_dsn': session.rcpt_dsn,
            'data': base64.b64encode(envelope.original_content).decode(),
            'tls': session.ssl is not None,
            'auth': getattr(session, 'auth_rec', None),
            'conn': server.conn_no,
        }
        with open(os.path.join(state, 'mail.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')
        return c.get('data_reply', '250 2.0.0 Ok: queued as SINK%d' % os.getpid())

connections = 0
open_now = 0
open_max = 0

def note_open(delta):
    global open_now, open_max
    open_now += delta
    if open_now > open_max:
        open_max = open_now
        tmp = os.path.join(state, 'maxconc.new')
        with open(tmp, 'w') as f:
            f.write('%d\n' % open_max)
        os.rename(tmp, os.path.join(state, 'maxconc'))

class Sink(SMTP):
    def connection_made(self, transport):
        global connections
        connections += 1
        self.conn_no = connections
        self.counted = True
        note_open(1)
        super().connection_made(transport)
        if self.session.ssl is None and transport.get_extra_info('ssl_object') is not None:
            self.session.ssl = {'wrapper': True}   # aiosmtpd marks STARTTLS only

    def connection_lost(self, exc):
        if getattr(self, 'counted', False):
            self.counted = False
            note_open(-1)
        super().connection_lost(exc)

    async def smtp_EHLO(self, arg):
        if conf().get('no_ehlo'):
            await self.push('502 5.5.1 EHLO not implemented')
            return
        await super().smtp_EHLO(arg)

    async def smtp_HELO(self, arg):
        if arg:
            self.session.host_name = arg
        await super().smtp_HELO(arg)

    async def smtp_MAIL(self, arg):
        arg, self.session.mail_dsn = split_params(arg, ('RET', 'ENVID'))
        self.session.rcpt_dsn = []
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        arg, self.session.pending_dsn = split_params(arg, ('NOTIFY', 'ORCPT'))
        await super().smtp_RCPT(arg)

    async def push(self, status):
        greeting = conf().get('greeting')
        if (isinstance(status, str) and status.startswith('220 ') and greeting
                and not getattr(self, 'greeted', False)):
            self.greeted = True
            await super().push(greeting)
            self.transport.close()
            return
        self.greeted = True
        await super().push(status)

def authenticator(want):
    def check(server, session, envelope, mechanism, auth_data):
        got = [auth_data.login.decode(), auth_data.password.decode()]
        ok = got == [want['user'], want['password']]
        if ok:
            session.auth_rec = [mechanism] + got
        return AuthResult(success=ok, handled=False)
    return check

def factory():
    c = conf()
    lack = c.get('lack', [])
    extra = {}
    if c.get('tls') and not c.get('wrapper'):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(c['tls']['cert'], c['tls']['key'])
        if c.get('tls_max'):
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = getattr(ssl.TLSVersion, c['tls_max'])
        extra['tls_context'] = ctx
    if c.get('auth'):
        extra.update(authenticator=authenticator(c['auth']), auth_required=True,
                     auth_require_tls=True)
    return Sink(Handler(), hostname='sink.test', decode_data=False, **extra,
                enable_SMTPUTF8='SMTPUTF8' not in lack,
                data_size_limit=c.get('size', 33554432) if 'SIZE' not in lack else None,
                timeout=60)

async def main():
    c, wrap = conf(), None
    if c.get('wrapper'):
        wrap = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        wrap.load_cert_chain(c['tls']['cert'], c['tls']['key'])
    server = await asyncio.get_running_loop().create_server(factory, host, port, ssl=wrap)
    open(os.path.join(state, 'ready'), 'w').close()
    async with server:
        await server.serve_forever()

asyncio.run(main())
