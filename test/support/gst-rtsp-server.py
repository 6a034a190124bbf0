#!/usr/bin/python3
"""An independent RTSP(S) peer for Palisade's tests: GStreamer's gst-rtsp-server serving an MP4 clip
without re-encoding (filesrc ! qtdemux ! h264parse|h265parse ! rtph264pay|rtph265pay).

Run with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0). Prints "READY <port>"
once listening. Options: --tls CERT KEY (RTSPS), --user/--password (Digest authentication)."""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", required=True)
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    pay = "rtph264pay" if args.codec == "h264" else "rtph265pay"
    parse = "h264parse" if args.codec == "h264" else "h265parse"
    factory.set_launch(
        f'( filesrc location="{args.clip}" ! qtdemux ! {parse} ! {pay} name=pay0 pt=96 config-interval=-1 )'
    )
    # Each client gets its own pipeline from the start of the clip (the clip plays once, then EOS).
    factory.set_shared(False)

    if args.tls or args.user:
        auth = GstRtspServer.RTSPAuth()
        if args.tls:
            with open(args.tls[0]) as f:
                cert = f.read()
            with open(args.tls[1]) as f:
                key = f.read()
            auth.set_tls_certificate(Gio.TlsCertificate.new_from_pem(cert + key, -1))
        if args.user:
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "user")
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        else:
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "anonymous")
            auth.set_default_token(token)
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    "anonymous, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        server.set_auth(auth)

    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print("attach failed", file=sys.stderr)
        sys.exit(1)
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
