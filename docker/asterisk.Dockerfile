# Asterisk 22.10.1 LTS with its bundled pjproject 2.17, built from the official release tarballs
# exactly as ../shared/asterisk/build.sh builds the PBX of the test suite: same version, same
# configure flags, same menuselect module selection, same build packages
# (tests/asterisk_conf/test_dockerfile.py compares the two). Plus the classic AGI script of the
# degraded path. Build from the repository root:
#   docker build -f docker/asterisk.Dockerfile -t hotline-asterisk .
FROM debian:bookworm-slim AS build
ARG ASTERISK_VERSION=22.10.1
ARG ASTERISK_SHA256=21203c1352060a5a7577844d7b5ca1e833593c531ddab4c1bd2107d39176618c
ARG PJPROJECT_VERSION=2.17
ARG PJPROJECT_SHA256=04b2eb1f0f01aa0ad1945b167171843448a51aa6b7c3e806496d434f13a112b7
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
      build-essential pkg-config libedit-dev libjansson-dev libxml2-dev uuid-dev libsqlite3-dev \
      libssl-dev libcurl4-openssl-dev libsrtp2-dev libspeex-dev libogg-dev libvorbis-dev \
      libncurses-dev bzip2 patch \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src
# Both tarballs are checked against the same SHA-256 sums as ../shared/asterisk/SHA256SUMS;
# pjproject goes into the download cache so the build itself never goes online.
RUN curl -fsSLo "asterisk-${ASTERISK_VERSION}.tar.gz" \
      "https://downloads.asterisk.org/pub/telephony/asterisk/releases/asterisk-${ASTERISK_VERSION}.tar.gz" \
 && mkdir cache \
 && curl -fsSLo "cache/pjproject-${PJPROJECT_VERSION}.tar.bz2" \
      "https://raw.githubusercontent.com/asterisk/third-party/master/pjproject/${PJPROJECT_VERSION}/pjproject-${PJPROJECT_VERSION}.tar.bz2" \
 && echo "${ASTERISK_SHA256}  asterisk-${ASTERISK_VERSION}.tar.gz" | sha256sum -c - \
 && echo "${PJPROJECT_SHA256}  cache/pjproject-${PJPROJECT_VERSION}.tar.bz2" | sha256sum -c - \
 && tar -xzf "asterisk-${ASTERISK_VERSION}.tar.gz"
WORKDIR /usr/src/asterisk-${ASTERISK_VERSION}
RUN ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
      --with-pjproject-bundled --with-jansson-bundled=no --with-download-cache=/usr/src/cache \
 && make menuselect.makeopts \
 && menuselect/menuselect \
      --enable app_queue --enable res_agi --enable app_mixmonitor --enable app_chanspy \
      --enable cdr_csv --enable cdr_manager --enable cel_custom --enable res_manager_devicestate \
      --enable func_devstate --enable func_rand --enable app_senddtmf --enable app_playtones \
      --enable app_record --enable app_userevent --enable res_musiconhold --enable bridge_simple \
      --enable chan_pjsip --enable res_pjsip \
      --disable CORE-SOUNDS-EN-GSM --disable MOH-OPSOUND-WAV --disable EXTRA-SOUNDS-EN-GSM \
      menuselect.makeopts \
 && ! grep -E '^MENUSELECT_(CORE_SOUNDS|MOH|EXTRA_SOUNDS)=.+' menuselect.makeopts \
 && make -j"$(nproc)" \
 && make DESTDIR=/staging install \
 && make DESTDIR=/staging samples

FROM debian:bookworm-slim
# Runtime libraries of the build above; English sounds and music on hold from Debian, as
# build.sh installs them (the hotline's own Mandarin prompts come from `hotline prompts build`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libedit2 libjansson4 libsqlite3-0 libssl3 \
      libxml2 libuuid1 libcurl4 libsrtp2-1 libspeex1 libogg0 libvorbis0a libvorbisenc2 \
      libvorbisfile3 libncurses6 asterisk-core-sounds-en asterisk-core-sounds-en-gsm \
      asterisk-moh-opsound-gsm python3 python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --no-cache-dir --break-system-packages "pyst2>=0.5.1" \
 && useradd --system --home /var/lib/asterisk asterisk
COPY --from=build /staging/ /
RUN mkdir -p /var/lib/asterisk/sounds /var/run/asterisk \
 && ln -sfn /usr/share/asterisk/sounds/en /var/lib/asterisk/sounds/en \
 && rm -rf /var/lib/asterisk/moh && ln -s /usr/share/asterisk/moh /var/lib/asterisk/moh
# The fallback script imports agi_scripts and asterisk_conf.channel_vars (stdlib + pyst2 only);
# the symlink is resolved by the script to find them.
COPY agi_scripts /opt/hotline/agi_scripts
COPY asterisk_conf/__init__.py asterisk_conf/channel_vars.py /opt/hotline/asterisk_conf/
RUN ln -s /opt/hotline/agi_scripts/hotline_fallback.py /var/lib/asterisk/agi-bin/hotline_fallback.py \
 && chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk /var/log/asterisk \
      /var/spool/asterisk /var/run/asterisk
# Rendered files (`hotline asterisk-conf render --mode files`) arrive in /etc/asterisk/hotline
# and replace the samples of the same name at every start (all 0600, owned by asterisk);
# built prompts arrive in /opt/hotline-sounds in Asterisk's sounds layout. cdr_csv and
# MixMonitor do not create their folders: made here, on the volumes, before Asterisk starts.
CMD ["sh", "-c", "install -o asterisk -g asterisk -m 0600 /etc/asterisk/hotline/*.conf /etc/asterisk/ && install -d -o asterisk -g asterisk /var/log/asterisk/cdr-csv /var/spool/asterisk/monitor && cp -r /opt/hotline-sounds/. /var/lib/asterisk/sounds/ && exec asterisk -f -U asterisk -G asterisk"]
