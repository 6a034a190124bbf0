#!/usr/bin/env bash
# Regenerates the camera simulator's clips in clips/ with Debian's ffmpeg (libx264, libx265).
# The clips are committed so the demo and the tests need no ffmpeg; run this only to change them.
#
# Each clip is 4 s at 25 fps with a 2 s GOP (50 frames, closed, no scene-cut key frames) and no
# B-frames, like a surveillance camera's main stream. The test pattern carries moving parts and
# temporal noise so the encoder spends the bitrate a real scene would; 1080p H.264 lands at about
# 4 Mbit/s, which the recording benchmark relies on. The container is fragmented MP4 (one fragment
# per GOP) so that Palisade's own fMP4 reader loads it and GStreamer's qtdemux can serve it.
set -euo pipefail
cd "$(dirname "$0")/../clips"

common=(-hide_banner -loglevel error -y -t 4 -an -bf 0 -g 50 -keyint_min 50 -pix_fmt yuv420p
  -movflags +frag_keyframe+empty_moov+default_base_moof)
pattern() { echo "testsrc2=size=$1:rate=25,noise=alls=$2:allf=t"; }

ffmpeg -f lavfi -i "$(pattern 1920x1080 10)" "${common[@]}" \
  -c:v libx264 -preset veryfast -profile:v high -sc_threshold 0 \
  -b:v 4M -maxrate 4M -bufsize 4M h264-1080p.mp4

ffmpeg -f lavfi -i "$(pattern 1280x720 6)" "${common[@]}" \
  -c:v libx264 -preset veryfast -profile:v main -sc_threshold 0 \
  -b:v 1M -maxrate 1M -bufsize 1M h264-720p.mp4

ffmpeg -f lavfi -i "$(pattern 1920x1080 6)" "${common[@]}" \
  -c:v libx265 -preset veryfast -tag:v hvc1 \
  -x265-params "log-level=error:keyint=50:min-keyint=50:scenecut=0:bframes=0:open-gop=0:repeat-headers=0" \
  -b:v 1M -maxrate 1M -bufsize 1M h265-1080p.mp4

ls -l ./*.mp4
