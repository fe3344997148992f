/* Photos are made smaller on the phone before they leave it: at most 1600 px on the long
 * side, JPEG at quality 0.8, upright (the camera's orientation applied). A 4 MB camera
 * picture becomes a few hundred KB, for an upload on a weak signal and for the offline
 * queue, which keeps the photos until they are sent. What cannot be decoded here is
 * sent as it is, and the server judges it.
 *
 * Redrawing drops the picture's EXIF, including the GPS position a report may be
 * located by. So on the report form, when no position is set, the position is read from
 * the original first and put in the form's own position fields (the server then removes
 * nothing, having received no EXIF). */
(function () {
  "use strict";

  var MAX_EDGE = 1600;
  var QUALITY = 0.8;
  var SMALL_ENOUGH_BYTES = 300 * 1024;
  var EXIF_SCAN_BYTES = 256 * 1024;

  function degrees(parts) {
    return parts[0] + parts[1] / 60 + parts[2] / 3600;
  }

  function gpsFromTiff(view, start) {
    var little = view.getUint16(start) === 0x4949;
    var u16 = function (at) { return view.getUint16(start + at, little); };
    var u32 = function (at) { return view.getUint32(start + at, little); };
    var ifd0 = u32(4);
    var gps = null;
    for (var i = 0; i < u16(ifd0); i += 1) {
      var entry = ifd0 + 2 + i * 12;
      if (u16(entry) === 0x8825) {
        gps = u32(entry + 8);
      }
    }
    if (gps === null) {
      return null;
    }
    var tags = {};
    for (var j = 0; j < u16(gps); j += 1) {
      var at = gps + 2 + j * 12;
      var tag = u16(at);
      if (tag === 1 || tag === 3 || tag === 9) {
        tags[tag] = String.fromCharCode(view.getUint8(start + at + 8));
      } else if ((tag === 2 || tag === 4) && u16(at + 2) === 5 && u32(at + 4) === 3) {
        var values = u32(at + 8);
        tags[tag] = [0, 1, 2].map(function (k) {
          var denominator = u32(values + k * 8 + 4);
          return denominator ? u32(values + k * 8) / denominator : NaN;
        });
      }
    }
    if (tags[9] === "V" || !tags[2] || !tags[4]) {
      return null;
    }
    var lat = degrees(tags[2]) * (tags[1] === "S" ? -1 : 1);
    var lng = degrees(tags[4]) * (tags[3] === "W" ? -1 : 1);
    if (!isFinite(lat) || !isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180 || (!lat && !lng)) {
      return null;
    }
    return { lat: lat, lng: lng };
  }

  function gpsFromJpeg(view) {
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) {
      return null;
    }
    var offset = 2;
    while (offset + 10 < view.byteLength) {
      var marker = view.getUint16(offset);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) {
        return null; // not a marker, or the picture itself begins: no EXIF before it
      }
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) {
        return gpsFromTiff(view, offset + 10); // "Exif\0\0", then the TIFF header
      }
      offset += 2 + view.getUint16(offset + 2);
    }
    return null;
  }

  /* The EXIF GPS position of a JPEG, or null (none, void, or unreadable). */
  function readGps(file) {
    if (!/jpe?g$/i.test(file.type || file.name || "")) {
      return Promise.resolve(null);
    }
    return file.slice(0, EXIF_SCAN_BYTES).arrayBuffer().then(function (buffer) {
      try {
        return gpsFromJpeg(new DataView(buffer));
      } catch (error) {
        return null;
      }
    }, function () { return null; });
  }

  function baseName(name) {
    return (name || "photo").replace(/\.[^.]*$/, "") || "photo";
  }

  /* The photo at most MAX_EDGE px on its long side as a JPEG; small JPEGs stay as they are. */
  function resize(file) {
    if (!/^image\//.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size <= SMALL_ENOUGH_BYTES && file.type === "image/jpeg") {
        bitmap.close();
        return file;
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // a transparent PNG turns white, not black
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITY); }).then(function (blob) {
        if (!blob || (scale === 1 && blob.size >= file.size)) {
          return file;
        }
        return new File([blob], baseName(file.name) + ".jpg", { type: "image/jpeg", lastModified: file.lastModified });
      });
    }).catch(function () {
      return file;
    });
  }

  function locateFromPhoto(form, files) {
    var lat = form.elements.namedItem("lat");
    var lng = form.elements.namedItem("lng");
    if (!lat || !lng || lat.value || lng.value || !files.length) {
      return Promise.resolve();
    }
    return readGps(files[0]).then(function (position) {
      if (!position) {
        return;
      }
      lat.value = position.lat.toFixed(6);
      lng.value = position.lng.toFixed(6);
      var status = document.getElementById("location-status");
      var texts = document.getElementById("pwa-texts");
      if (status && texts) {
        status.textContent = texts.dataset.photoPosition;
      }
    });
  }

  /* Before a form leaves: position from the first photo if needed, then every photo made
   * smaller and put back into its file input. */
  function prepare(form) {
    var inputs = Array.prototype.filter.call(form.querySelectorAll('input[type="file"]'), function (input) {
      return input.files && input.files.length > 0;
    });
    return Promise.all(inputs.map(function (input) {
      var files = Array.prototype.slice.call(input.files);
      return locateFromPhoto(form, files).then(function () {
        return Promise.all(files.map(resize));
      }).then(function (smaller) {
        if (!window.DataTransfer) {
          return;
        }
        var transfer = new DataTransfer();
        smaller.forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
      });
    }));
  }

  window.GridPhotos = { prepare: prepare, resize: resize, readGps: readGps };
})();
