/* File inputs, before anything is sent (the server checks everything again on arrival,
 * views/uploads.py):
 *
 * - A photo (JPEG, PNG, WebP) over 2 MB, or more than 2560 px on its longer side, is made smaller
 *   in the browser: decoded upright as the phone's EXIF orientation says, drawn at most 2560 px on
 *   its longer side, saved as JPEG (quality 0.85) under its own name with .jpg, and put back in
 *   the input. A phone's 12-megapixel photo of 5 MB goes as about 1 MB.
 * - Then the count and each file's size are held against the limits the input carries
 *   (data-max-files, data-max-bytes; views/forms.py, file_input_kw). A file over them is said
 *   next to the input, in the page's language (the texts are data attributes of the note under
 *   it, templates/_macros.html, upload_notes), and the form is not sent until it is put right.
 * - A form sent while photos are still being made smaller is sent once they are ready.
 *
 * Every file input's macro loads this script; it sets itself up once.
 */
(function () {
  "use strict";

  if (window.butlerDeskUploads) {
    return;
  }
  window.butlerDeskUploads = true;

  var PHOTOS = ["image/jpeg", "image/png", "image/webp"];
  var LONGEST = 2560;
  var SHRINK_OVER = 2 * 1024 * 1024;
  var QUALITY = 0.85;

  var jobs = new Map();      // input -> the promise of its files being made ready
  var refused = new Set();   // inputs holding a file over the limits
  var rounds = new WeakMap(); // input -> how many times files were chosen (a late job is dropped)

  function noteOf(input) {
    return document.getElementById(input.id + "-upload");
  }

  function say(input, text, isError) {
    var note = noteOf(input);
    if (note) {
      note.textContent = text;
      note.classList.toggle("error", isError);
    }
  }

  function jpegName(name) {
    return (name.replace(/\.[^.]*$/, "") || "photo") + ".jpg";
  }

  function upright(file) {
    return window.createImageBitmap(file, { imageOrientation: "from-image" });
  }

  // The photo made smaller, or the file itself when it is no photo, small already, or unreadable.
  function shrink(file) {
    if (PHOTOS.indexOf(file.type) < 0 || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return upright(file).then(function (bitmap) {
      var scale = Math.min(1, LONGEST / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size <= SHRINK_OVER) {
        bitmap.close();
        return file;
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // a transparent PNG on white, not on black
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", QUALITY);
      }).then(function (blob) {
        if (!blob || (scale === 1 && blob.size >= file.size)) {
          return file;
        }
        return new File([blob], jpegName(file.name), { type: "image/jpeg",
                                                       lastModified: file.lastModified });
      });
    }).catch(function () {
      return file;  // the server says what is wrong with it
    });
  }

  // One photo after the other: ten decoded at once would take a phone's memory.
  function shrinkAll(files) {
    var made = [];
    return files.reduce(function (done, file) {
      return done.then(function () {
        return shrink(file).then(function (small) { made.push(small); });
      });
    }, Promise.resolve()).then(function () { return made; });
  }

  function check(input) {
    var note = noteOf(input);
    var most = parseInt(input.dataset.maxFiles, 10);
    var largest = parseInt(input.dataset.maxBytes, 10);
    var problems = [];
    if (most && input.files.length > most && note) {
      problems.push(note.dataset.tooMany);
    }
    Array.prototype.forEach.call(input.files, function (file) {
      if (largest && file.size > largest && note) {
        problems.push(note.dataset.tooLarge.replace("{name}", file.name));
      }
    });
    if (problems.length) {
      refused.add(input);
      input.setAttribute("aria-invalid", "true");
    } else {
      refused.delete(input);
      if (!input.closest(".has-error")) {
        input.removeAttribute("aria-invalid");
      }
    }
    say(input, problems.join("\n"), problems.length > 0);
  }

  function prepare(input) {
    var round = (rounds.get(input) || 0) + 1;
    rounds.set(input, round);
    var chosen = Array.prototype.slice.call(input.files);
    var most = parseInt(input.dataset.maxFiles, 10);
    if (most && chosen.length > most) {  // too many: nothing to make smaller
      jobs.delete(input);
      check(input);
      return;
    }
    var note = noteOf(input);
    var photos = chosen.some(function (file) { return PHOTOS.indexOf(file.type) >= 0; });
    say(input, photos && note ? note.dataset.busy : "", false);
    var job = shrinkAll(chosen).then(function (made) {
      if (rounds.get(input) !== round) {
        return;  // other files were chosen meanwhile
      }
      if (made.some(function (file, i) { return file !== chosen[i]; })) {
        var transfer = new DataTransfer();
        made.forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
      }
      check(input);
    });
    jobs.set(input, job);
    job.then(function () {
      if (jobs.get(input) === job) {
        jobs.delete(input);
      }
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[type=file][data-max-bytes]")) {
      prepare(input);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var inputs = Array.prototype.slice.call(
      form.querySelectorAll("input[type=file][data-max-bytes]"));
    var waiting = inputs.filter(function (input) { return jobs.has(input); });
    if (waiting.length) {  // send it once the photos are ready
      event.preventDefault();
      var submitter = event.submitter || null;
      Promise.all(waiting.map(function (input) { return jobs.get(input); })).then(function () {
        form.requestSubmit(submitter);
      });
      return;
    }
    var over = inputs.filter(function (input) { return refused.has(input); });
    if (over.length) {
      event.preventDefault();
      over[0].focus();
      (over[0].closest(".field") || over[0]).scrollIntoView({ block: "center" });
    }
  });
})();
