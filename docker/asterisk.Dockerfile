# Asterisk 22 LTS built from source (Debian has no package), with the classic AGI script of
# the degraded path. Build from the repository root:
#   docker build -f docker/asterisk.Dockerfile -t hotline-asterisk .
FROM debian:bookworm-slim AS build
ARG ASTERISK_VERSION=22.10.1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential ca-certificates curl \
      libedit-dev libjansson-dev libsqlite3-dev libssl-dev libxml2-dev uuid-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src
RUN curl -fsSL "https://downloads.asterisk.org/pub/telephony/asterisk/releases/asterisk-${ASTERISK_VERSION}.tar.gz" \
      | tar xz \
 && cd "asterisk-${ASTERISK_VERSION}" \
 && ./configure --with-jansson-bundled=no --with-pjproject-bundled \
 && make menuselect.makeopts \
 && menuselect/menuselect --disable BUILD_NATIVE menuselect.makeopts \
 && make -j"$(nproc)" \
 && make DESTDIR=/staging install samples

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libedit2 libjansson4 libsqlite3-0 libssl3 \
      libxml2 libuuid1 python3 python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --no-cache-dir --break-system-packages "pyst2>=0.5.1" \
 && useradd --system --home /var/lib/asterisk asterisk
COPY --from=build /staging/ /
# The fallback script imports agi_scripts and asterisk_conf.channel_vars (stdlib + pyst2 only);
# the symlink is resolved by the script to find them.
COPY agi_scripts /opt/hotline/agi_scripts
COPY asterisk_conf/__init__.py asterisk_conf/channel_vars.py /opt/hotline/asterisk_conf/
RUN ln -s /opt/hotline/agi_scripts/hotline_fallback.py /var/lib/asterisk/agi-bin/hotline_fallback.py \
 && chown -R asterisk:asterisk /etc/asterisk /var/lib/asterisk /var/log/asterisk \
      /var/spool/asterisk /var/run/asterisk
# Rendered files (hotline asterisk-conf render) arrive in /etc/asterisk/hotline and replace
# the samples of the same name at every start (pjsip/manager.conf are 0600: owned by asterisk);
# built prompts arrive in /opt/hotline-sounds in Asterisk's sounds layout.
CMD ["sh", "-c", "install -o asterisk -g asterisk -m 0600 /etc/asterisk/hotline/*.conf /etc/asterisk/ && cp -r /opt/hotline-sounds/. /var/lib/asterisk/sounds/ && exec asterisk -f -U asterisk -G asterisk"]
